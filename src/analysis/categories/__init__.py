"""Which kinds of key client each client is: features over the trailing window (``features``),
the rulebook and membership with reasons (``rules``), the article's descriptive claims
(``claims``)."""
