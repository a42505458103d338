from koban_geo.cli.main import main

main()
