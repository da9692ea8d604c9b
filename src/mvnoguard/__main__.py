"""``python -m mvnoguard``: the same command line as the ``mvnoguard`` console script."""

from mvnoguard.cli import main

if __name__ == "__main__":
    main()
