"""The bottom layer: settings, the clock, message catalogues, point rules, day and time parsing.
Imports nothing else of the project (see docs/development.md)."""
