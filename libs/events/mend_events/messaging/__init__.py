"""The bus: the outbox relay, the inbox consumer and its error routing, CloudEvents framing,
topics, broker ACLs and the declarations of reactions."""
