"""Running a service: settings, logging and its scrubber, database pools, the runtime that starts
relay and consumers, serving, and the composition helper."""
