"""The trader's and the market's figures (one sub-package of the market app; models and
migrations stay in ``market``):

* ``periods``: what every figure shares (methods, local days, paid orders and refunds of a period);
* ``day_close``: the daily close (chốt sổ) figures, plan and history (writes: ``market.closing``);
* ``takings_figures``: takings (doanh thu), the 30-day series and the best sellers;
* ``tax_rules``: the versioned household-tax rules table with each value's legal source;
* ``tax_estimator``: the pure household-tax estimator over those rules;
* ``tax_figures``: the tax page's reads (revenue per month, sourced rule rows) and the revenue book;
* ``dashboard``: the staff dashboard per market (cashless adoption);
* ``books``: the books-agree check (``manage.py books_check``, nightly task);
* ``views`` and ``api``: the pages (market/urls.py) and the JSON API (/api/v1/reports/).
"""
