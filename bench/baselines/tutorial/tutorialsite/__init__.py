"""The tutorial-pattern baseline: what users copy from the Channels tutorials."""
