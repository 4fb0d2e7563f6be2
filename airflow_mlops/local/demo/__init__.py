"""The demo: breast-cancer data, its data registry, its CT pipeline and the story that drives it.

The only place in the package where demo names (dataset, columns, tags) may appear.
"""
