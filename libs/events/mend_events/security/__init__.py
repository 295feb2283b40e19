"""Who may do what and who may read what: token identity, public keys, the policy, case access,
the practitioner registry, disclosure, erasure and the crypto of sealed fields."""
