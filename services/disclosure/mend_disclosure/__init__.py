"""The disclosure gateway (issue 18): consent-filtered feeds per partner agency
(`mend.share.v1.<agency>`), minimised to the reviewed allowlist, and the disclosure ledger."""
