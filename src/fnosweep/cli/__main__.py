from fnosweep.cli.main import main

main()
