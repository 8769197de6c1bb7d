"""The provider response portal: a provider's users see and answer only their own notices."""
