"""SLOs and error budgets: the budget arithmetic (``budget``), evaluating SLOs and
storing the result (``evaluate``), and the deploy gate that reads it (``gate``)."""
