"""Source text made readable: LaTeX to plain Unicode, leading connectives dropped, sentences
shortened at clause boundaries, quotations marked.

Abstracts and titles arrive with the authors' LaTeX (`$T \\propto D^{\\gamma}$`,
`\\textbf{X}`, `$0.81\\%$`) and with sentences that only make sense after the previous one
("To address this, we …"). A brief quotes single sentences, so both are fixed here, once,
for every source text shown (titles, abstract sentences, Hugging Face AI summaries):

    >>> latex_to_text(r"$T \\propto D^{\\gamma}$, $R^{2} > 0.99$")
    'T ∝ D^γ, R² > 0.99'
    >>> drop_connective("To address this, we introduce MASPO.")
    'We introduce MASPO.'

Nothing is invented: unknown commands keep their argument (`\\foo{X}` -> X), and text with
no LaTeX in it comes back unchanged apart from whitespace.
"""

from __future__ import annotations

import re
from typing import Final

from digest.models import Language

__all__ = [
    "clean_sentence",
    "clean_source_text",
    "clean_title",
    "drop_connective",
    "latex_to_text",
    "quote",
    "shorten",
    "survey_topic",
]

# --- LaTeX -----------------------------------------------------------------------------

_GREEK: Final = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
    "varepsilon": "ε", "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ",
    "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ", "varsigma": "ς",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}  # fmt: skip
_SYMBOLS: Final = {
    "propto": "∝", "times": "×", "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…",
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "sim": "∼", "simeq": "≃", "cong": "≅", "equiv": "≡", "pm": "±", "mp": "∓",
    "infty": "∞", "to": "→", "rightarrow": "→", "longrightarrow": "⟶", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "Leftrightarrow": "⇔", "leftrightarrow": "↔",
    "mapsto": "↦", "uparrow": "↑", "downarrow": "↓", "in": "∈", "notin": "∉", "ni": "∋",
    "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "supseteq": "⊇", "cup": "∪",
    "cap": "∩", "setminus": "∖", "forall": "∀", "exists": "∃", "partial": "∂",
    "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮", "ll": "≪", "gg": "≫",
    "circ": "∘", "star": "⋆", "ast": "*", "prime": "′", "langle": "⟨", "rangle": "⟩",
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "neg": "¬", "lnot": "¬",
    "land": "∧", "wedge": "∧", "lor": "∨", "vee": "∨", "oplus": "⊕", "otimes": "⊗",
    "odot": "⊙", "emptyset": "∅", "varnothing": "∅", "mid": "|", "vert": "|",
    "Vert": "‖", "ell": "ℓ", "hbar": "ħ", "top": "⊤", "bot": "⊥", "perp": "⊥",
    "parallel": "∥", "angle": "∠", "triangle": "△", "square": "□", "checkmark": "✓",
    "dagger": "†", "ddagger": "‡", "S": "§", "P": "¶", "copyright": "©", "textdegree": "°",
    "degree": "°", "circledR": "®", "aleph": "ℵ", "Re": "ℜ", "Im": "ℑ", "wp": "℘",
    "textasciitilde": "~", "textbackslash": "\\", "textbar": "|", "textless": "<",
    "textgreater": ">", "textendash": "–", "textemdash": "—", "LaTeX": "LaTeX",
    "TeX": "TeX", "log": "log", "ln": "ln", "exp": "exp", "max": "max", "min": "min",
    "arg": "arg", "argmax": "argmax", "argmin": "argmin", "sin": "sin", "cos": "cos",
    "tan": "tan", "lim": "lim", "sup": "sup", "inf": "inf", "det": "det", "dim": "dim",
    "Pr": "Pr", "deg": "deg", "ker": "ker", "gcd": "gcd", "mod": "mod", "bmod": "mod",
}  # fmt: skip
_BLACKBOARD: Final = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
# Commands whose arguments are not prose: dropped with them.
_DROP_WITH_ARGS: Final = frozenset(
    {"cite", "citep", "citet", "citealp", "citeauthor", "citeyear", "ref", "eqref",
     "autoref", "cref", "Cref", "label", "footnote", "footnotemark", "vspace", "hspace",
     "includegraphics", "bibliography", "bibliographystyle", "thanks", "index"}
)  # fmt: skip
# Commands with two arguments of which the first is not prose (a colour, a URL).
_KEEP_LAST_ARG: Final = frozenset({"textcolor", "colorbox", "href", "fcolorbox"})
# Sizing and spacing commands: nothing to show.
_INVISIBLE: Final = frozenset(
    {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
     "biggl", "biggr", "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits",
     "nonumber", "notag", "centering", "noindent", "small", "large", "Large", "tiny",
     "normalsize", "footnotesize", "scriptsize", "huge", "Huge", "par", "newline",
     "linebreak", "allowbreak", "relax", "bf", "it", "rm", "tt", "sf", "em", "sc"}
)  # fmt: skip
_SPACES: Final = frozenset({"quad", "qquad", "enspace", "thinspace", "medspace", "space"})
_ESCAPES: Final = {
    "%": "%", "$": "$", "&": "&", "_": "_", "#": "#", "{": "{", "}": "}", " ": " ",
    ",": " ", ";": " ", ":": " ", ">": " ", "!": "", "-": "", "\\": " ", "|": "‖",
    "/": "", "@": "", "'": "", '"': "", "`": "", "^": "^", "~": "~",
}  # fmt: skip
_SUPERSCRIPT: Final = str.maketrans("0123456789+-−=()niT⊤", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵀᵀ")
_SUBSCRIPT: Final = str.maketrans(
    "0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"
)
_SUP_CHARS: Final = frozenset("0123456789+-−=()niT⊤")
_SUB_CHARS: Final = frozenset("0123456789+-−=()aehijklmnoprstuvx")
_COMMAND = re.compile(r"\\([A-Za-z]+)\*?|\\(.)", re.DOTALL)
_MATH_MAX: Final = 300  # a "$" pair further apart than this is not inline math
_OPERATOR = re.compile(r"[+\-−=<>×·/ ]")


def _group(s: str, i: int, open_: str = "{", close: str = "}") -> tuple[str, int]:
    """The text of the group opening at s[i] (balanced), and the index after it."""
    depth = 0
    for j in range(i, len(s)):
        c = s[j]
        if c == "\\":
            continue
        if c == open_ and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif c == close and (j == 0 or s[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return s[i + 1 : j], j + 1
    return s[i + 1 :], len(s)  # unbalanced: the rest


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] == " ":
        i += 1
    return i


def _args(s: str, i: int) -> tuple[list[str], int]:
    """The brace arguments following a command (optional [..] arguments skipped)."""
    args: list[str] = []
    while True:
        j = _skip_spaces(s, i)
        if j < len(s) and s[j] == "[" and not args:
            _, i = _group(s, j, "[", "]")
            continue
        if j < len(s) and s[j] == "{":
            arg, i = _group(s, j)
            args.append(arg)
            continue
        return args, i


def _script(text: str, table: dict[int, int], chars: frozenset[str], mark: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if all(c in chars for c in text):
        return text.translate(table)
    if len(text) == 1 or not _OPERATOR.search(text):
        return mark + text
    return f"{mark}({text})"


def _wrap(text: str) -> str:
    """An operand of "/" or "√": parenthesised when it is more than one term."""
    text = text.strip()
    return f"({text})" if _OPERATOR.search(text) else text


def _math_end(s: str, i: int) -> int:
    """Index of the "$" closing inline math opened at s[i], or -1 when it is not math.

    Like TeX's own convention, math does not start before a space nor end after one, so
    "costs $5 and $10" stays text.
    """
    if i + 1 >= len(s) or s[i + 1] in " \t\n":
        return -1
    j = i + 1
    while j < len(s) and j - i <= _MATH_MAX:
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == "$":
            return j if s[j - 1] not in " \t\n" else -1
        j += 1
    return -1


def _script_arg(s: str, i: int) -> tuple[str, int]:
    """The converted argument of ^ or _ starting at s[i]: a group, a command or one char."""
    i = _skip_spaces(s, i)
    if i >= len(s):
        return "", i
    if s[i] == "{":
        inner, end = _group(s, i)
        return _convert(inner, True), end
    if s[i] == "\\":
        m = _COMMAND.match(s, i)
        if m is not None and m.group(1) is not None:
            return _command(m.group(1), s, m.end(), True, [])
        if m is not None:
            return _ESCAPES.get(m.group(2), m.group(2)), m.end()
    return s[i], i + 1


def _convert(s: str, math: bool) -> str:
    out: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            m = _COMMAND.match(s, i)
            if m is None:  # a lone backslash at the end
                i += 1
                continue
            i = m.end()
            name = m.group(1)
            if name is None:
                sym = m.group(2)
                if sym in "([":  # \( … \) and \[ … \]: math
                    close = "\\)" if sym == "(" else "\\]"
                    end = s.find(close, i)
                    end = n if end < 0 else end
                    out.append(_convert(s[i:end], True))
                    i = min(n, end + 2)
                elif sym in ")]":
                    pass
                else:
                    out.append(_ESCAPES.get(sym, sym))
                continue
            text, i = _command(name, s, i, math, out)
            out.append(text)
            continue
        if c == "{":
            inner, i = _group(s, i)
            out.append(_convert(inner, math))
            continue
        if c == "}":
            i += 1
            continue
        if c == "$" and not math:
            if s.startswith("$$", i):
                end = s.find("$$", i + 2)
                if end > 0:
                    out.append(_convert(s[i + 2 : end], True))
                    i = end + 2
                    continue
            end = _math_end(s, i)
            if end > 0:
                out.append(_convert(s[i + 1 : end], True))
                i = end + 1
                continue
            out.append(c)
            i += 1
            continue
        if math and c in "^_":
            arg, i = _script_arg(s, i + 1)
            if c == "^":
                out.append(_script(arg, _SUPERSCRIPT, _SUP_CHARS, "^"))
            else:
                out.append(_script(arg, _SUBSCRIPT, _SUB_CHARS, "_"))
            continue
        if not math and c == "`":
            if s.startswith("``", i):
                out.append("“")
                i += 2
            else:
                out.append("‘")
                i += 1
            continue
        if not math and s.startswith("''", i):
            out.append("”")
            i += 2
            continue
        if math and c == "~":
            out.append(" ")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _command(name: str, s: str, i: int, math: bool, out: list[str]) -> tuple[str, int]:
    """The text of command `name` whose arguments start at s[i], and where they end."""
    if name in _GREEK or name in _SYMBOLS:
        return _GREEK.get(name) or _SYMBOLS[name], i
    if name in _SPACES:
        return " ", i
    if name in _INVISIBLE:
        return "", i
    if name in _DROP_WITH_ARGS:
        return "", _args(s, i)[1]
    if name in ("frac", "dfrac", "tfrac"):
        args, end = _args(s, i)
        parts = [_convert(a, True) for a in args[:2]]
        if len(parts) == 2:
            return f"{_wrap(parts[0])}/{_wrap(parts[1])}", end
        return "".join(parts), end
    if name == "sqrt":
        j = _skip_spaces(s, i)
        root = ""
        if j < len(s) and s[j] == "[":
            root, j = _group(s, j, "[", "]")
        args, end = _args(s, j)
        body = _convert(args[0], True) if args else ""
        prefix = _script(_convert(root, True), _SUPERSCRIPT, _SUP_CHARS, "^") if root else ""
        return f"{prefix}√{_wrap(body)}", end
    args, end = _args(s, i)
    if name == "mathbb":
        inner = _convert(args[0], True).strip() if args else ""
        return _BLACKBOARD.get(inner, inner), end
    if name == "textsuperscript":
        text = _convert(args[0], math) if args else ""
        return _script(text, _SUPERSCRIPT, _SUP_CHARS, "^"), end
    if name == "textsubscript":
        text = _convert(args[0], math) if args else ""
        return _script(text, _SUBSCRIPT, _SUB_CHARS, "_"), end
    if not args:
        # An unknown command without arguments ("\newblock"): nothing to show; the space
        # after a command word belongs to it, as in TeX.
        if end < len(s) and s[end] == " " and (not out or out[-1].endswith(" ")):
            end += 1
        return "", end
    if name in _KEEP_LAST_ARG:
        args = args[-1:]
    # Unknown and style commands (\textbf, \emph, \mathcal, ...) keep their argument.
    return " ".join(_convert(a, math) for a in args), end


_DASH = re.compile(r"(?<=\w)---?(?=\w)")
# "a --- b" typed with spaces, as abstracts often do.
_SPACED_DASH = re.compile(r"(?<= )---?(?= )")
# A tie ("Task~B", "Fig.~3") is a space; "~10%" (approximately) after a space stays.
_TIE = re.compile(r"(?<=[\w.)])~(?=[\w(])|(?<=\s)~(?=[A-Za-z])")
# A caret outside math that can only be an exponent, as titles type it without dollars:
# "A^2TGPO", "O(n^2)", "10^{-3}" (a letter exponent, "x^n", stays: it may be literal).
_TEXT_CARET = re.compile(r"(?<=[A-Za-z0-9)\]])\^(?:\{([0-9+\-−=()]{1,8})\}|([0-9]{1,4}))")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?%)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")


def latex_to_text(text: str) -> str:
    """`text` with LaTeX markup turned into plain Unicode text, whitespace collapsed.

    Idempotent: clean text comes back as it is, so text cleaned where it entered (the
    sources) may be passed through again by a renderer at no harm.
    """
    if "\\" not in text and "$" not in text and "`" not in text and "''" not in text:
        out = text
    else:
        out = _convert(text, False)
    if "^" in out:
        out = _TEXT_CARET.sub(lambda m: (m.group(1) or m.group(2)).translate(_SUPERSCRIPT), out)
    out = _DASH.sub(lambda m: "—" if len(m.group()) == 3 else "–", out)
    if "--" in out:
        out = _SPACED_DASH.sub(lambda m: "—" if len(m.group()) == 3 else "–", out)
    if "~" in out:
        out = _TIE.sub(" ", out)
    out = " ".join(out.split())
    out = _SPACE_BEFORE.sub(r"\1", out)
    return _SPACE_AFTER_OPEN.sub(r"\1", out)


def clean_title(title: str) -> str:
    """A title for display: LaTeX resolved, whitespace collapsed."""
    return latex_to_text(title)


def clean_source_text(text: str) -> str:
    """A title, abstract or summary as it enters the model from a source: LaTeX resolved
    once there (`\\emph{…}`, `$\\lambda$`, `\\citep{…}`, `A$^2$`), so every renderer, the
    LLM's prompts and `/paper` cards read the same plain text."""
    return latex_to_text(text) if text else text


# --- connectives -----------------------------------------------------------------------

# Openers that tie a sentence to the one before it. Dropped when the sentence is quoted on
# its own; what follows is the sentence's own statement.
_CONNECTIVE_WORDS: Final = (
    "however|moreover|furthermore|additionally|in addition|specifically|notably|"
    "importantly|finally|first|firstly|second|secondly|third|thirdly|lastly|therefore|thus|"
    "hence|consequently|as a result|in particular|to this end|to that end|to do so|"
    "here|concretely|overall|in summary|in short|to summarize|in contrast|by contrast|"
    "meanwhile|crucially|surprisingly|interestingly|empirically|experimentally|"
    "practically|theoretically|technically|accordingly|instead|nevertheless|nonetheless|"
    "yet|still|besides|further|subsequently|then|next|also|indeed|in fact|in practice|"
    "in this (?:paper|work|study|article|survey|report|letter|note|position paper|review)|"
    "in this regard|on the other hand|against this backdrop|with this in mind|"
    "beyond (?:this|that)|in response|as such|in turn|to fill (?:this|the) gap|"
    "to bridge (?:this|the) gap|to close (?:this|the) gap"
)
_CONNECTIVE = re.compile(
    rf"^(?:{_CONNECTIVE_WORDS})\s*,\s*"
    # "To address this challenge, …", "To tackle these issues, …", "In order to …, …"
    r"|^(?:to|in order to)\s+(?:address|tackle|overcome|bridge|fill|close|solve|mitigate|"
    r"alleviate|remedy|resolve|handle|fix|answer|study|investigate|explore|this end)\b"
    r"[^,;:]{0,60},\s*"
    # "Building on this insight, …", "Motivated by these observations, …"
    r"|^(?:building on|based on|motivated by|inspired by|guided by|driven by|following|"
    r"leveraging|given)\s+(?:this|these|that|those|such|our|the above)\b[^,;:]{0,50},\s*"
    # "Building on the textbook factor-pricing framework, we derive …": any opener
    # of this kind, when the sentence's own clause starts with "we".
    r"|^(?:building on|based on|drawing on|grounded in|inspired by|motivated by|"
    r"leveraging|following|using|given)\b[^,;:]{1,80},\s*(?=we\b)"
    # "In this paper we propose" (no comma)
    r"|^in this (?:paper|work|study|article)\s+(?=we\b)",
    re.IGNORECASE,
)


def drop_connective(sentence: str) -> str:
    """The sentence without leading connectives, its first letter capitalised.

    "In this paper, we propose X." -> "We propose X."; "However, existing methods fail."
    -> "Existing methods fail." A sentence that is nothing but the connective stays.
    """
    out = sentence.strip()
    for _ in range(3):  # "However, in this paper, we …"
        m = _CONNECTIVE.match(out)
        if m is None or m.end() >= len(out):
            break
        out = out[m.end() :]
    if out and out != sentence.strip() and out[0].islower():
        out = out[0].upper() + out[1:]
    return out


def clean_sentence(sentence: str) -> str:
    """An abstract sentence ready to be quoted alone: LaTeX resolved, connectives dropped."""
    return drop_connective(latex_to_text(sentence))


# --- surveys ---------------------------------------------------------------------------

_SURVEY_TITLE = re.compile(
    r"\b(?:a\s+)?(?:comprehensive\s+|systematic\s+|brief\s+|critical\s+)?"
    r"(?:survey|review|overview|tutorial)\s+(?:on|of|for|about|in)\s+(?P<topic>[^:?]+)",
    re.IGNORECASE,
)
_SURVEY_WORD = re.compile(r"\b(?:survey|literature review|systematic review)\b", re.IGNORECASE)


def survey_topic(title: str, abstract: str = "") -> str | None:
    """What a survey surveys ("the Evolution of LLM Agent Memory Mechanisms"), or None
    when the paper is not a survey."""
    clean = clean_title(title)
    m = _SURVEY_TITLE.search(clean)
    if m is not None:
        topic = m.group("topic").strip(" .")
        return re.sub(r"^the\s+", "", topic, flags=re.IGNORECASE) or None
    if _SURVEY_WORD.search(clean):
        # "X: A Survey" — the part before the colon names the topic.
        head = clean.split(":", 1)[0].strip()
        if not _SURVEY_WORD.search(head):
            return head
        rest = _SURVEY_WORD.sub("", clean).strip(" :-–—")
        return rest or None
    if re.search(r"\bthis survey\b|\bwe survey\b", abstract, re.IGNORECASE):
        return clean.split(":", 1)[0].strip() or None
    return None


# --- shortening and quoting ------------------------------------------------------------

# An acronym's spelled-out expansion: "A²TGPO (Agentic Turn-Group Policy Optimization …)".
_EXPANSION = re.compile(r"(?<=[A-Z0-9²³⁰-⁹a-z])\s+\((?=[^()]*[A-Z])[^()]{12,120}\)(?=[\s,.;:])")
# Clause boundaries, strongest first: an enumeration, a semicolon or colon, a relative clause,
# then any comma.
_LEAD = re.compile(
    r"^(?i:across|on|over|in|for|under|with|through|using|compared (?:to|with)|"
    r"evaluated on|experiments on|extensive experiments on|results on)\b.{8,160}?,\s+"
    r"(?=[A-Z]|(?:we|our|it|this|they|the)\b)",
)
_CUT_TIERS: Final = (
    (": (",),
    ("; ", ": ", " — "),
    (", which ", ", where ", ", while ", ", whereas "),
    (", and ", ", but ", ", thereby ", ", enabling ", ", allowing ", ", "),
)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a clause boundary where one is near.

    Acronym expansions in parentheses go first; then the text is cut at the last clause
    boundary before the limit ("; ", ": ", ", which ", ...), else at a space; a cut text
    ends with "…".
    """
    out = " ".join(text.split())
    if len(out) <= limit:
        return out
    out = _EXPANSION.sub("", out)
    if len(out) <= limit:
        return out
    # "Across 16 tasks spanning a, b and c, CASCADE improves …": the statement is after the
    # scene-setting opener, so the opener goes first.
    lead = _LEAD.match(out)
    if lead is not None and len(out) - lead.end() >= limit // 3:
        rest = out[lead.end() :]
        out = rest[0].upper() + rest[1:]
        if len(out) <= limit:
            return out
    floor = limit * 2 // 5
    for marks in _CUT_TIERS:
        best = -1
        for mark in marks:
            at = out.rfind(mark, 0, limit - 1)
            if at >= floor:
                best = max(best, at)
        if best > 0:
            return out[:best].rstrip(" ,;:—") + "…"
    cut = out[: limit - 1]
    space = cut.rfind(" ")
    if space >= floor:
        cut = cut[:space]
    return cut.rstrip(" ,;:—(") + "…"


_QUOTES: Final[dict[Language, tuple[str, str]]] = {"zh": ("“", "”"), "en": ("“", "”")}


def quote(text: str, language: Language) -> str:
    """`text` marked as a quotation (the source's own words, not the brief's)."""
    text = text.strip()
    if not text:
        return ""
    open_, close = _QUOTES[language]
    inner = text.strip('“”"')
    return f"{open_}{inner}{close}"
