"""Services: every state change goes through one function here (admin, portal, API and tasks alike)."""
