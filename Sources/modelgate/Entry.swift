import ModelgateCLI

@main
struct Entry {
    static func main() async {
        await ModelgateCommand.main()
    }
}
