"""Reports: market statistics, audits, notices, as HTML (and PDF later)."""
