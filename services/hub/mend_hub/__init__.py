"""The hub service: agencies, staff, allocations, the people directory, sign-in."""
