from koban_geo.cli import main

main()
