import CartflowCore
import CartflowTestSupport
import Foundation
import Testing

/// The API key used by the secret tests: long enough to be searched for anywhere in a value.
private let liveKey = "sk_live_SECRETKEY123456"

/// Everything a user could see of a result: rendered diagnostics with their lines, key paths and notes.
private func everythingShown(_ result: LoadResult) -> String {
    result.diagnostics.map {
        $0.render(sourceText: result.sourceText) + $0.keyPath + $0.notes.map(\.message).joined()
    }.joined(separator: "\n")
}

@Suite("The API key in keys")
struct SecretKeyTests {
    /// A key chosen by the user (a collection name, a column output name) never went through the secret check of
    /// values, so a file naming a collection by the key validated and `plan`/`graph` printed it.
    @Test func aKeyHoldingTheAPIKeyIsRefusedWithoutEchoingIt() {
        let environment = ["MULTICART_API_KEY": liveKey]
        let collection = MarkedText("cartflow: 1\ncollections: { 1️⃣\(liveKey): { id: 101 } }\n")
        let result = load(collection, environment: environment)
        #expect(spots(result) == [spot(.literalSecret, collection, "1️⃣")])
        #expect(
            result.diagnostics.first?.message
                == "a key in 'collections' holds the API key; the key may only be given in 'api.key', as ${VARIABLE}")
        #expect(result.workflow == nil)
        #expect(!everythingShown(result).contains(liveKey))

        let column = MarkedText(
            header + "steps:\n  - export: csv\n    path: x.csv\n    columns: [asin, {1️⃣\(liveKey): asin}]\n")
        let columnResult = load(column, environment: environment)
        #expect(spots(columnResult) == [spot(.literalSecret, column, "1️⃣")])
        #expect(columnResult.workflow == nil)
        #expect(!everythingShown(columnResult).contains(liveKey))

        // Part of a key, and a fixed-format key (which would otherwise be echoed as unknown).
        let part = MarkedText(
            "cartflow: 1\ncollections:\n  1️⃣x-\(liveKey)-y: { id: 1 }\n  b: { id: 2 }\npoll: { 2️⃣\(liveKey): 1s }\n")
        #expect(
            spots(load(part, environment: environment)) == [
                spot(.literalSecret, part, "1️⃣"), spot(.literalSecret, part, "2️⃣"),
            ])
    }

    /// The variable `api.key` names is secret for the top-level keys too, which are read before `api`.
    @Test func aTopLevelKeyHoldingTheNamedVariablesValueIsRefused() {
        let marked = MarkedText(header + "1️⃣other-SECRET-606: 1\napi: { key: \"${SHOP_KEY}\" }\n")
        let result = load(marked, environment: ["SHOP_KEY": "other-SECRET-606"])
        #expect(spots(result) == [spot(.literalSecret, marked, "1️⃣")])
        #expect(!everythingShown(result).contains("other-SECRET-606"))
    }

    /// A refused key is reported once; `collections` is not also "empty" because of it.
    @Test func refusedKeysDoNotMakeCollectionsLookEmpty() {
        let complex = MarkedText("cartflow: 1\ncollections:\n  ? 1️⃣[a, b]\n  : { id: 1 }\n")
        #expect(spots(load(complex)) == [spot(.wrongType, complex, "1️⃣")])
        let empty = MarkedText("cartflow: 1\ncollections: 1️⃣{}\n")
        #expect(spots(load(empty)) == [spot(.emptyCollection, empty, "1️⃣")])
    }
}
