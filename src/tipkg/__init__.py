"""tipkg: turns reports on cooperation against trafficking in persons into linked data.

The pipeline reads top to bottom, one module per stage:
``sources`` → ``graph`` → ``validate`` → ``publish`` → ``server``.
"""

__version__ = "0.1.0"
