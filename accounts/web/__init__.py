"""The web pages' sign-in, navigation and home of every role (server-rendered)."""
