"""Where candidate papers come from: Hugging Face Daily Papers, arXiv, GitHub."""

from digest.sources.arxiv_api import ArxivSource
from digest.sources.collect import Candidates, collect_candidates
from digest.sources.github import GitHubSource, find_github_repo, normalize_repo_url
from digest.sources.hf import HuggingFaceSource, parse_daily
from digest.sources.http import RateLimited, get_json
from digest.sources.merge import merge_papers

__all__ = [
    "ArxivSource",
    "Candidates",
    "GitHubSource",
    "HuggingFaceSource",
    "RateLimited",
    "collect_candidates",
    "find_github_repo",
    "get_json",
    "merge_papers",
    "normalize_repo_url",
    "parse_daily",
]
