"""`lpr-ray review`: a web page on which people correct low-confidence reads (issue 24).

queue.py asks the results for the next reads to look at; server.py serves the page and its
small JSON API; export.py turns the verdicts into a TAO dataset for `lpr-ray train`. The
verdicts themselves are stored by lpr_ray.results.reviews (the results tier).
"""
