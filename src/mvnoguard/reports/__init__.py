"""Reports: the market report, enforcement notices and bulletins, as HTML and PDF."""
