"""The Handlebars subset: output as handlebars.js renders it, malformed templates refused, nothing executed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.handlebars import Template, TemplateError, escape


def render(source: str, data: object) -> str:
    return Template.parse(source).render(data)


@pytest.mark.parametrize(("source", "data", "expected"), [
    ("Hi {{name}}", {"name": "Ann"}, "Hi Ann"),
    ("{{name}}", {"name": "<b>&\"'`="}, "&lt;b&gt;&amp;&quot;&#x27;&#x60;&#x3D;"),
    ("{{{name}}}", {"name": "<b>"}, "<b>"),
    ("{{& name}}", {"name": "<b>"}, "<b>"),
    ("{{a.b.c}}", {"a": {"b": {"c": 1}}}, "1"),
    ("{{a/b}}", {"a": {"b": "x"}}, "x"),
    ("{{missing.deep}}", {}, ""),
    ("{{n}} {{f}} {{t}} {{z}}", {"n": None, "f": 2.0, "t": True, "z": 0}, " 2 true 0"),
    ("{{#if x}}yes{{else}}no{{/if}}", {"x": []}, "no"),
    ("{{#if x}}yes{{else}}no{{/if}}", {"x": {}}, "yes"),
    ("{{#if x}}yes{{/if}}", {"x": 0}, ""),
    ("{{#unless x}}none{{/unless}}", {"x": ""}, "none"),
    ("{{#each xs}}{{@index}}:{{this}}{{#unless @last}},{{/unless}}{{/each}}", {"xs": ["a", "b", "c"]}, "0:a,1:b,2:c"),
    ("{{#each xs}}{{name}}/{{../title}} {{/each}}", {"title": "T", "xs": [{"name": "a"}, {"name": "b"}]}, "a/T b/T "),
    ("{{#each m}}{{@key}}={{this}};{{/each}}", {"m": {"x": 1, "y": 2}}, "x=1;y=2;"),
    ("{{#each xs}}{{.}}{{else}}empty{{/each}}", {"xs": []}, "empty"),
    ("{{#each xs}}{{#if @first}}[{{/if}}{{this}}{{/each}}", {"xs": [1, 2]}, "[12"),
    ("{{#with person}}{{first}} {{last}}{{/with}}", {"person": {"first": "A", "last": "B"}}, "A B"),
    ("{{#each xs}}{{@root.top}}{{/each}}", {"top": "!", "xs": [1, 2]}, "!!"),
    ("{{#equals a 2}}two{{else}}other{{/equals}}", {"a": 2}, "two"),
    ("{{#equals a \"x\"}}X{{/equals}}", {"a": "x"}, "X"),
    ("{{#notEquals a b}}diff{{/notEquals}}", {"a": 1, "b": 2}, "diff"),
    ("{{#greaterThan a 5}}big{{else}}small{{/greaterThan}}", {"a": 7}, "big"),
    ("{{#lessThan a 5}}small{{/lessThan}}", {"a": 7}, ""),
    ("{{#and a b}}both{{/and}}{{#or a c}}one{{/or}}", {"a": 1, "b": 1, "c": 0}, "bothone"),
    ("{{insert name \"default=friend\"}}", {}, "friend"),
    ("{{insert name \"default=friend\"}}", {"name": "Ann"}, "Ann"),
    ("a {{! comment }}b{{!-- {{not}} a tag --}}c", {}, "a bc"),
    ("x  {{~name~}}  y", {"name": "N"}, "xNy"),
    ("{{[odd key]}}", {"odd key": "v"}, "v"),
    ("{{xs.length}}", {"xs": [1, 2, 3]}, "3"),
    ("{{xs}}", {"xs": [1, "a"]}, "1,a"),
])
def test_renders_like_handlebars(source: str, data: object, expected: str) -> None:
    assert render(source, data) == expected


@pytest.mark.parametrize("source", [
    "{{#if a}}", "{{/if}}", "{{#if a}}{{/each}}", "{{a", "{{#nope x}}{{/nope}}", "{{else}}", "{{}}",
    "{{{a}}", "{{#if a}}{{else}}{{else}}{{/if}}",
])
def test_malformed_templates_are_refused(source: str) -> None:
    with pytest.raises(TemplateError):
        Template.parse(source)


def test_nothing_in_a_template_is_executed() -> None:
    # Paths that would be code in a compile-to-Python port are just names here.
    assert render("{{[a'+str(1/0)+']}}", {}) == ""
    assert render("{{__class__}}{{a.__class__}}", {"a": {}}) == ""


def test_depth_is_bounded() -> None:
    with pytest.raises(TemplateError):
        Template.parse("{{#if a}}" * 100 + "{{/if}}" * 100)


@settings(database=None, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_template_error(source: str) -> None:
    try:
        template = Template.parse(source)
    except TemplateError:
        return
    assert isinstance(template.render({"a": [1, {"b": "<"}]}), str)


@settings(database=None, deadline=None)
@given(st.text(max_size=100))
def test_escape_leaves_no_markup(text: str) -> None:
    assert not set("<>\"'`") & set(escape(text))
