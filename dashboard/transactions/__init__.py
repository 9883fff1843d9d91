"""Transactions: every counted event kept, searchable, and the drill-down from figures to them."""
