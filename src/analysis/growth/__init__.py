"""Growth and the kinds, in pipeline order: portfolio × period exposures and outcomes (``panel``);
the hypothesis file (``spec``); the models (``fits``, shared by the tests below); the
confirmatory tests (``confirmatory``) with their verdict rules (``verdicts``) and sentences
(``wording``); the exploratory grid (``exploratory``); robustness (``robustness``); client-level
links (``client_links``) and growth by kind (``decompose``)."""
