"""The text of verification messages, in every language Openline speaks, in one place.

Twilio's default SMS reads "Your {name} verification code is: {code}" and, with the service's
DoNotShareWarningEnabled, adds "Don't share this code with anyone; our employees will never ask
for the code". ``Locale`` picks the language (its first subtag: "pt-BR" → pt); without it the
language follows the destination's country, as Twilio resolves it; anything Openline has no
template for falls back to English (Twilio: "It will fallback to English").
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_LOCALE = 16  # BCP 47 tags in use ("zh-HK", "pt-BR", "en-GB") are far shorter
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Template:
    code: str  # the sentence that carries {name} and {code}
    warning: str  # the do-not-share warning


TEMPLATES: dict[str, Template] = {
    "en": Template("Your {name} verification code is: {code}",
                   "Don't share this code with anyone; our employees will never ask for the code."),
    "es": Template("Tu código de verificación de {name} es: {code}",
                   "No compartas este código con nadie; nuestros empleados nunca te lo pedirán."),
    "fr": Template("Votre code de vérification {name} est : {code}",
                   "Ne partagez ce code avec personne ; nos employés ne vous le demanderont jamais."),
    "de": Template("Ihr {name} Bestätigungscode lautet: {code}",
                   "Geben Sie diesen Code an niemanden weiter; unsere Mitarbeiter werden Sie nie danach fragen."),
    "pt": Template("O seu código de verificação {name} é: {code}",
                   "Não partilhe este código com ninguém; os nossos funcionários nunca o pedirão."),
    "it": Template("Il tuo codice di verifica {name} è: {code}",
                   "Non condividere questo codice con nessuno; i nostri dipendenti non te lo chiederanno mai."),
    "nl": Template("Je {name} verificatiecode is: {code}",
                   "Deel deze code met niemand; onze medewerkers zullen nooit om de code vragen."),
    "zh": Template("您的{name}验证码是：{code}",
                   "请勿与任何人分享此验证码；我们的员工绝不会向您索要验证码。"),
    "ja": Template("{name}の認証コードは{code}です。",
                   "このコードは誰とも共有しないでください。当社の従業員がコードをお尋ねすることはありません。"),
    "ar": Template("رمز التحقق الخاص بك في {name} هو: {code}",
                   "لا تشارك هذا الرمز مع أي شخص؛ لن يطلب موظفونا الرمز منك أبدًا."),
}

# The language a destination country reads by default (ISO 3166 → template language).
_COUNTRY_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(("ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY", "SV",
                     "NI", "CR", "PA", "UY"), "es"),
    **dict.fromkeys(("FR", "MC", "SN", "CI", "ML", "BF", "NE", "TG", "BJ", "GA", "CG", "CD", "MG"), "fr"),
    **dict.fromkeys(("DE", "AT", "LI"), "de"),
    **dict.fromkeys(("PT", "BR", "AO", "MZ", "CV", "GW", "ST"), "pt"),
    **dict.fromkeys(("IT", "SM", "VA"), "it"),
    **dict.fromkeys(("NL", "SR"), "nl"),
    **dict.fromkeys(("CN", "TW", "HK", "MO"), "zh"),
    "JP": "ja",
    **dict.fromkeys(("SA", "AE", "EG", "QA", "KW", "BH", "OM", "JO", "IQ", "LY", "YE", "SY", "LB", "SD", "PS",
                     "DZ", "MA", "TN", "MR"), "ar"),
}


def is_valid_locale(locale: str) -> bool:
    return len(locale) <= MAX_LOCALE and bool(_LOCALE.match(locale))


def language_for(locale: str | None, iso_country: str | None) -> str:
    """The template language for a Locale (if given) or else the destination's country."""
    if locale:
        language = re.split(r"[-_]", locale, maxsplit=1)[0].lower()
        return language if language in TEMPLATES else DEFAULT_LANGUAGE
    return _COUNTRY_LANGUAGE.get(iso_country or "", DEFAULT_LANGUAGE)


def render(language: str, name: str, code: str, warning: bool, app_hash: str | None = None) -> str:
    """The SMS body. The code is put in first, so a ``{code}`` inside the name stays literal text."""
    template = TEMPLATES.get(language, TEMPLATES[DEFAULT_LANGUAGE])
    body = template.code.replace("{code}", code).replace("{name}", name)
    if warning:
        body += "\n" + template.warning
    if app_hash:
        body += "\n" + app_hash  # Android SMS Retriever: the app's hash ends the message
    return body


def render_custom(message: str, code: str) -> str:
    """Twilio's deprecated CustomMessage: the text with ``{{code}}`` replaced by the code."""
    return message.replace("{{code}}", code)


# How many times the code is said on a call, and the language attribute <Say> gets for each template.
SPOKEN_REPEATS = 3
_SAY_LANGUAGE = {"en": "en-US", "es": "es-ES", "fr": "fr-FR", "de": "de-DE", "pt": "pt-BR", "it": "it-IT",
                 "nl": "nl-NL", "zh": "zh-CN", "ja": "ja-JP", "ar": "ar-AE"}


def spoken_code(code: str) -> str:
    """Digits said one by one ("1, 2, 3"): a text-to-speech engine reads "123" as a number."""
    return ", ".join(code)


def spoken_twiml(language: str, name: str, code: str) -> str:
    """The TwiML of a Verify call: the localized sentence with the code spelled out, three times."""
    sentence = render(language, name, spoken_code(code), False)
    say = (f'<Say language="{_SAY_LANGUAGE.get(language, "en-US")}">'
           f"{html.escape(sentence, quote=False)}</Say>")
    return "<Response>" + '<Pause length="1"/>'.join([say] * SPOKEN_REPEATS) + "</Response>"
