"""The SIP legs' shared cache of G.711-encoded prompts."""

from __future__ import annotations

from openline.codecs.media import g711, tone
from openline.transports.sip_calls import EncodedPrompts


def test_equal_prompts_are_encoded_once_per_codec() -> None:
    cache = EncodedPrompts()
    prompt = tone((440.0,), 500)
    first = cache.encode(prompt, "PCMU")
    assert first == g711.encode(prompt, "PCMU")
    assert cache.encode(bytes(bytearray(prompt)), "PCMU") is first  # equal bytes from another call
    assert cache.encode(prompt, "PCMA") == g711.encode(prompt, "PCMA")
    assert (cache.hits, cache.misses) == (1, 2)


def test_the_cache_stays_within_its_byte_limit() -> None:
    cache = EncodedPrompts(limit=50_000)  # a 0.5 s prompt takes 8000 + 4000 bytes: four fit
    prompts = [tone((300.0 + 100 * i,), 500) for i in range(5)]
    for prompt in prompts:
        cache.encode(prompt, "PCMU")
    assert cache._size <= 50_000
    cache.encode(prompts[-1], "PCMU")
    assert cache.hits == 1  # the newest is kept
    cache.encode(prompts[0], "PCMU")
    assert cache.misses == 6  # the oldest was dropped
    big = tone((500.0,), 2000)  # 32 kB + 16 kB: more than a quarter of the limit, never kept
    cache.encode(big, "PCMU")
    cache.encode(big, "PCMU")
    assert cache.misses == 8
