"""The client commands of `pfai`: each module is one command or one resource's group."""
