"""Growth and the kinds: portfolio × period exposures and outcomes (``panel``), the confirmatory
and exploratory tests and verdicts (``hypotheses``), client-level links (``client_links``) and
growth by kind (``decompose``)."""
