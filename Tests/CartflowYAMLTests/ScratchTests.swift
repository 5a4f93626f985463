import CartflowYAML
import Testing

@Test func scratch() throws {
    for text in ["a:\n\tb: 1\n", "a:\n  b: 1\n\tc: 2\n", "a: 1\n\tb: 2\n", "a: [1,\n\t2]\n", "a: |\n  x\n  \ty\n", "a:\n  - 1\n  -\t2\n", "a: 1\n b: 2\n", "---\na: 1\n---\nb: 2\n", "", "# c\n", "---\n", "\u{FEFF}a: 1\r\nb: [x,\r\n y]\r\n", "a: &x 1\nb: *x\nc: *y\n", "a: b: c\n", "a:\n  b: 1\n c: 2\n"] {
        do {
            let node = try YAMLParser.parse(text)
            print("OK", text.debugDescription, node, node.range)
        } catch {
            print("ERR", text.debugDescription, error.kind, error)
        }
    }
}
