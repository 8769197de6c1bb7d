"""Portal views: notices (list, page, responses, downloads, one-click links), accounts, organisation."""
