"""Enquiries: someone approaches the agency, perhaps anonymously (issue 20)."""
