"""Hosting trace: DNS → routing/registry prefixes → provider, ASN, country, abuse contact."""
