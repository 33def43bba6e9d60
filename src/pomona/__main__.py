from pomona.cli import main

main()
