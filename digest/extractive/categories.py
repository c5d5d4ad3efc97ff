"""A paper's topical category: a short label ("Agentic RL / Tool Use") from its title,
keywords and abstract, by a small vocabulary of the field's topics; the arXiv category's
name when no topic is clear. In Chinese briefs the labels are Chinese (`CATEGORY_ZH`),
with the field's usual English terms (Agent, RL, MoE) kept as they are written there.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from digest.cleaning import clean_title, latex_to_text
from digest.models import Language, Paper

__all__ = ["category_label", "topic_category"]

# Papers whose category is kept (a day has ~50, a week of days fits).
TEXT_CACHE: Final = 4096

# A small vocabulary of the field's topics: (label, patterns, labels it makes redundant).
# The first two labels a paper's title (x3), keywords (x2) and abstract (x1) support best
# become its category; the arXiv category's name is the fallback.
_TOPICS: Final = tuple(
    (label, tuple(re.compile(p, re.IGNORECASE) for p in patterns), frozenset(excludes))
    for label, patterns, excludes in [
        (
            "Agentic RL",
            [
                r"\bagentic (?:RL|reinforcement learning)\b",
                r"\bmulti-turn (?:RL|reinforcement)",
                r"\bcredit assignment\b",
                r"\bturn-level\b",
            ],
            ["LLM Agent", "RL"],
        ),
        (
            "RLVR / Post-training",
            [
                r"\bRLVR\b",
                r"\bverifiable rewards?\b",
                r"\bGRPO\b",
                r"\bpolicy optimi[sz]ation\b",
                r"\bpost-training\b",
                r"\bRLHF\b",
                r"\breward model",
            ],
            ["RL"],
        ),
        (
            "Code Agent",
            [
                r"\bcode (?:agents?|generation|search|LLMs?|intelligence)\b",
                r"\bsoftware engineering\b",
                r"\bprogram synthesis\b",
                r"\bSWE-bench\b",
                r"\bGPU kernels?\b",
                r"\bcoding agents?\b",
            ],
            ["LLM Agent"],
        ),
        (
            "Agent Memory",
            [
                r"\bagent memory\b",
                r"\bepisodic memory\b",
                r"\blong-term memory\b",
                r"\bmemory (?:mechanisms?|systems?|banks?|modules?)\b",
            ],
            ["LLM Agent"],
        ),
        (
            "Self-Evolving Agent",
            [
                r"\bself-evolv\w*",
                r"\bcontinual (?:learning|adaptation)\b",
                r"\blifelong\b",
                r"\bskill (?:library|curation|distillation|selection)\b",
                r"\bdeployment-time learning\b",
            ],
            ["LLM Agent"],
        ),
        (
            "Tool Use",
            [
                r"\btool[- ](?:use|using|calling|calls?|learning|retrieval)\b",
                r"\bfunction[- ]calling\b",
                r"\bAPI calls?\b",
            ],
            ["LLM Agent"],
        ),
        (
            "Agentic Search",
            [
                r"\b(?:agentic|deep) (?:search|research)\b",
                r"\bsearch agents?\b",
                r"\bweb (?:agents?|browsing)\b",
            ],
            ["LLM Agent", "Retrieval"],
        ),
        ("Multi-Agent", [r"\bmulti-agent\b"], ["LLM Agent"]),
        (
            "World Model",
            [
                r"\bworld (?:action )?models?\b",
                r"\bmodel-based RL\b",
                r"\bmodel-based reinforcement\b",
                r"\bimagination\b",
            ],
            [],
        ),
        ("Test-time Scaling", [r"\btest-time (?:scaling|compute)\b", r"\bTTS\b"], ["Reasoning"]),
        ("Scaling Laws", [r"\bscaling (?:laws?|properties)\b", r"\bpower law\b"], []),
        ("Pre-training", [r"\bpre-?training\b", r"\bdata-constrained\b", r"\bdata mixture\b"], []),
        (
            "MoE",
            [r"\bmixture-of-experts\b", r"\bmixture of experts\b", r"\bMoE\b", r"\bexpert pool\b"],
            [],
        ),
        (
            "Long Context",
            [r"\blong-context\b", r"\bKV[- ]cache\b", r"\bprefill\w*", r"\bsparse attention\b"],
            [],
        ),
        (
            "Diffusion LM",
            [r"\bdiffusion language models?\b", r"\bdLLMs?\b", r"\blatent diffusion language\b"],
            ["Diffusion"],
        ),
        (
            "Latent Reasoning",
            [r"\blatent (?:reasoning|thoughts?|space reasoning)\b", r"\bcontinuous thought\b"],
            ["Reasoning"],
        ),
        (
            "Interpretability",
            [
                r"\binterpretab\w*",
                r"\bhidden states?\b",
                r"\blatent directions?\b",
                r"\bmechanistic\b",
                r"\bactivation steering\b",
                r"\bsteering\b",
                r"\bprobing\b",
            ],
            [],
        ),
        (
            "Reasoning",
            [r"\breasoning\b", r"\bchain-of-thought\b", r"\bCoT\b", r"\btheorem proving\b"],
            [],
        ),
        ("Retrieval", [r"\bretriev\w+", r"\bRAG\b", r"\bembeddings?\b", r"\breranking\b"], []),
        ("Distillation", [r"\bdistillation\b", r"\bself-distill\w*"], []),
        ("Diffusion", [r"\bdiffusion\b", r"\bflow matching\b"], []),
        ("Video", [r"\bvideo\w*"], []),
        (
            "Multimodal",
            [r"\bmultimodal\b", r"\bvision-language\b", r"\bVLMs?\b", r"\bvisual\b", r"\bimage\w*"],
            [],
        ),
        (
            "Prompt Optimization",
            [
                r"\bprompt optimi[sz]ation\b",
                r"\bprompt (?:engineering|tuning|perturbation)\b",
                r"\bprompts?\b",
            ],
            [],
        ),
        (
            "Safety",
            [
                r"\bsafety\b",
                r"\bjailbreak\w*",
                r"\bharmful\b",
                r"\bred[- ]teaming\b",
                r"\balignment\b",
            ],
            [],
        ),
        (
            "AI for Science",
            [
                r"\bmathematic\w*",
                r"\bbiomedical\b",
                r"\bchemistry\b",
                r"\bprotein\w*",
                r"\bscientific discovery\b",
                r"\bauto(?:mated)? research\b",
            ],
            [],
        ),
        ("Economics", [r"\beconomic\w*", r"\blabor\b", r"\bwages?\b"], []),
        ("Robotics", [r"\brobot\w*", r"\bembodied\b", r"\bmanipulation\b", r"\bVLA\b"], []),
        ("Tabular", [r"\btabular\b"], []),
        (
            "Efficiency",
            [
                r"\binference (?:efficiency|acceleration|latency|cost)\b",
                r"\bquantization\b",
                r"\bpruning\b",
                r"\bspeedup\b",
            ],
            [],
        ),
        ("LLM Agent", [r"\bLLM agents?\b", r"\bagents?\b", r"\bagentic\b"], []),
        ("RL", [r"\breinforcement learning\b", r"\bRL\b"], []),
        ("Benchmark", [r"\bbenchmark\w*"], []),
    ]
)
_TOPIC_MIN: Final = 2.0
# Readable names of the arXiv categories AI papers are filed under: the fallback label.
_ARXIV_NAMES: Final = {
    "cs.AI": "Artificial Intelligence", "cs.CL": "NLP", "cs.LG": "Machine Learning",
    "cs.CV": "Computer Vision", "cs.RO": "Robotics", "cs.SE": "Software Engineering",
    "cs.IR": "Information Retrieval", "cs.MA": "Multi-Agent", "cs.CR": "Security",
    "cs.HC": "HCI", "cs.NE": "Neural and Evolutionary Computing", "cs.DC": "Systems",
    "cs.SD": "Audio", "eess.AS": "Audio", "eess.IV": "Image and Video",
    "stat.ML": "Machine Learning",
    "cs.CY": "Computers and Society", "cs.DB": "Databases", "cs.PL": "Programming Languages",
}  # fmt: skip


def topic_category(paper: Paper, *, parts: int = 2) -> str:
    """A short topical label ("Agentic RL / Tool Use") from the paper's title, keywords and
    abstract; the arXiv category's name when no topic is clear. Computed once per paper
    in a process."""
    return _topic_category(
        paper.title,
        tuple(paper.keywords),
        paper.abstract,
        (paper.primary_category, *paper.categories),
        parts,
    )


@functools.lru_cache(maxsize=TEXT_CACHE)
def _topic_category(
    raw_title: str,
    raw_keywords: tuple[str, ...],
    raw_abstract: str,
    categories: tuple[str | None, ...],
    parts: int,
) -> str:
    title = clean_title(raw_title)
    keywords = " ; ".join(raw_keywords)
    abstract = latex_to_text(raw_abstract)
    scores: list[tuple[float, int, str, frozenset[str]]] = []
    for order, (label, patterns, excludes) in enumerate(_TOPICS):
        score = 0.0
        for pattern in patterns:
            score += 3.0 * bool(pattern.search(title))
            score += 2.0 * bool(pattern.search(keywords))
            score += min(3, len(pattern.findall(abstract)))
        if score >= _TOPIC_MIN:
            scores.append((score, order, label, excludes))
    scores.sort(key=lambda t: (-t[0], t[1]))
    chosen: list[str] = []
    excluded: set[str] = set()
    for _, _, label, excludes in scores:
        if label in excluded:
            continue
        chosen.append(label)
        excluded |= excludes
        if len(chosen) >= parts:
            break
    if chosen:
        return " / ".join(chosen)
    for cat in categories:
        if cat and cat in _ARXIV_NAMES:
            return _ARXIV_NAMES[cat]
    return categories[0] or "AI"


# How a Chinese brief names the topics: Chinese, with the field's usual English terms.
CATEGORY_ZH: Final = {
    "Agentic RL": "Agentic RL", "RLVR": "RLVR", "Post-training": "后训练",
    "Code Agent": "代码 Agent", "Agent Memory": "Agent 记忆",
    "Self-Evolving Agent": "自演化 Agent", "Tool Use": "工具调用", "Agentic Search": "智能体搜索",
    "Multi-Agent": "多智能体", "World Model": "世界模型", "Test-time Scaling": "测试时扩展",
    "Scaling Laws": "缩放定律", "Pre-training": "预训练", "MoE": "MoE", "Long Context": "长上下文",
    "Diffusion LM": "扩散语言模型", "Latent Reasoning": "潜空间推理",
    "Interpretability": "可解释性",
    "Reasoning": "推理", "Retrieval": "检索", "Distillation": "蒸馏", "Diffusion": "扩散模型",
    "Video": "视频", "Multimodal": "多模态", "Prompt Optimization": "提示词优化",
    "Safety": "安全", "AI for Science": "AI for Science", "Economics": "经济学",
    "Robotics": "机器人", "Tabular": "表格数据", "Efficiency": "推理效率", "LLM Agent": "LLM Agent",
    "RL": "强化学习", "Benchmark": "评测基准",
    "Artificial Intelligence": "人工智能", "NLP": "自然语言处理", "Machine Learning": "机器学习",
    "Computer Vision": "计算机视觉", "Software Engineering": "软件工程",
    "Information Retrieval": "信息检索", "Security": "安全", "HCI": "人机交互",
    "Neural and Evolutionary Computing": "神经与演化计算", "Systems": "系统", "Audio": "音频",
    "Image and Video": "图像与视频", "Computers and Society": "计算机与社会",
    "Databases": "数据库", "Programming Languages": "编程语言",
}  # fmt: skip


def category_label(category: str, language: Language) -> str:
    """A topical category as the brief's language names it (each "/" part mapped)."""
    if language != "zh":
        return category
    return " / ".join(CATEGORY_ZH.get(part.strip(), part.strip()) for part in category.split("/"))
