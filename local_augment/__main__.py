"""`python -m local_augment` runs the CLI."""

from local_augment.cli import main

if __name__ == "__main__":
    main()
