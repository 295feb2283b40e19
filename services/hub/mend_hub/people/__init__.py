"""The people directory (mission row 41, R8): who a participant is and how to reach them safely.

- `commands`: the request bodies and domain commands;
- `domain`: the pure fold and decisions of one person's stream (`person:<person>`); its state
  holds no personal value, only which routes exist (a command's state is cached in memory, and
  nothing there may outlive an erasure);
- `policy`: the one rule of who may read or change which part of a person's record;
- `relations`: what links a caller to a person (their own cases, allocated to the caller);
- `sealed`: the person's details and routes as stored (sealed), opened only on a permitted
  read, so an erasure leaves nothing readable in any copy;
- `service`: the application layer; `api`: the HTTP routes.
"""
