"""The REST API (`/api/v1/`): thin views over services and selectors, one auth/paging/error base."""
