"""The HTTP edge shared by every service: the app factory and error mapping, strict bodies and
correlation, the command route table, validated inputs."""
