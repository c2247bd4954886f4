"""Reports (product.md section 8): KPIs, CQI, the daily digest, the two radars, the commission estimate.

The capability itself is ``handlers.reports.capability``; the metric modules beside it are plain async
functions over a session, a set of reps and a window, so the CLI (``actionflow report``) and the bench
call exactly what the scheduled jobs call.
"""
