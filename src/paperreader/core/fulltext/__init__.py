"""Full text of papers: LaTeX to Unicode, text out of PDF and arXiv HTML, kept beside the paper."""
