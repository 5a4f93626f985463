import CartflowCLI

CartflowMain.main()
