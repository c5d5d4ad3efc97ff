"""Reading papers in full: arXiv's HTML rendering, else its PDF, else the abstract.

model     FullText (sections, tables, figures, math as text, references), Missing
latexml   the HTML rendering's parser          pdftext / pdfproc   the PDF's, isolated
spacing   one request at a time, N s apart, fleet-wide
fetch     the polite client of the arXiv web hosts (and nothing else)
service   read_paper: cached for everyone, fetched once
passages  the paper as passages; lexical retrieval; citations
budget    the most useful sections within a token budget
"""
