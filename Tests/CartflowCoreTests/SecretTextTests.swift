import CartflowCore
import CartflowTestSupport
import Foundation
import Testing

/// The key as an echo may write it: raw, percent-encoded by any encoder, with `+` for a space.
@Suite("Finding a secret however it is encoded")
struct SecretTextTests {
    private let key = SecretText("pk_test.S3cr3t+Key/ab==")

    @Test func everyByteMayBeRawOrPercentEncodedInEitherCase() {
        for echo in [
            "pk_test.S3cr3t+Key/ab==",  // raw
            "pk_test.S3cr3t%2BKey%2Fab%3D%3D",  // an encoder that keeps - . _ ~ (RFC 3986 unreserved)
            "pk%5Ftest%2ES3cr3t%2BKey%2Fab%3D%3D",  // .alphanumerics
            "pk%5ftest%2es3cr3t%2bkey%2fab%3d%3d".replacingOccurrences(of: "s3cr3t", with: "S3cr3t")
                .replacingOccurrences(of: "key", with: "Key"),  // lowercase hex
            "%70%6B_test.S3cr3t%2bKey%2Fab=%3D",  // mixed, letters encoded too
            "pk_test.S3cr3t+Key\\/ab==",  // JSON's escaped slash
        ] {
            #expect(key.contains(in: "before \(echo) after"), "\(echo)")
            #expect(key.redact("before \(echo) after") == "before <redacted> after", "\(echo)")
            #expect(key.contains(in: Data("x\(echo)y".utf8)), "\(echo)")
            #expect(key.redact(Data("x\(echo)y".utf8), with: "*") == Data("x*y".utf8), "\(echo)")
        }
    }

    @Test func aSpaceMayBeAPlusAndOnlyASpace() {
        let spaced = SecretText("my secret key")
        #expect(spaced.redact("k=my+secret+key&x=1") == "k=<redacted>&x=1")
        #expect(spaced.redact("k=my%20secret key") == "k=<redacted>")
        // A `+` in the key is a `+` or `%2B`, never a space.
        #expect(!key.contains(in: "pk_test.S3cr3t Key/ab=="))
    }

    @Test func nearMissesAndTheEmptySecretAreLeftAlone() {
        #expect(!key.contains(in: "pk_test.S3cr3t+Key/ab="))
        #expect(!key.contains(in: "pk_test.S3cr3t%2Key/ab=="))
        #expect(!key.contains(in: "PK_TEST.S3CR3T+KEY/AB=="))
        #expect(key.redact("nothing here") == "nothing here")
        #expect(!SecretText("").contains(in: "anything"))
        #expect(SecretText("").redact("anything") == "anything")
        // Every occurrence goes, a `%25` for a `%` whole, and text around them stays as it was (UTF-8 too).
        #expect(SecretText("a%b").redact("é a%25b · a%b ü") == "é <redacted> · <redacted> ü")
        #expect(
            key.redact(["pk_test.S3cr3t+Key/ab==", "pk_test.S3cr3t%2BKey%2Fab%3D%3D"].joined())
                == "<redacted><redacted>")
    }
}

@Suite("The API key percent-encoded in a workflow file")
struct EncodedSecretLoaderTests {
    /// An encoder that keeps `-._~` (`pk_test.S3cr3t%2BKey%2Fab%3D%3D`) wrote a form a list of `.alphanumerics`
    /// encodings missed: the value was echoed by CF112 and shown in the excerpt.
    @Test func aValueHoldingTheKeyInAnyEncodingIsRefusedWithoutEchoingIt() {
        let environment = ["MULTICART_API_KEY": "pk_test.S3cr3t+Key/ab=="]
        let marked = MarkedText(
            """
            cartflow: 1
            name: 1️⃣pk_test.S3cr3t%2BKey%2Fab%3D%3D
            description: 2️⃣pk%5Ftest%2ES3cr3t%2bKey%2fab%3d%3d
            collections:
              3️⃣"x-pk_test.S3cr3t%2BKey%2Fab==": { id: 101 }
            steps:
              - { export: csv, path: "4️⃣${pk_test.S3cr3t%2BKey%2Fab%3D%3D}" }
            """)
        let result = load(marked, environment: environment)
        #expect(
            spots(result) == [
                spot(.literalSecret, marked, "1️⃣"), spot(.literalSecret, marked, "2️⃣"),
                spot(.literalSecret, marked, "3️⃣"), spot(.badInterpolation, marked, "4️⃣"),
            ])
        #expect(result.diagnostics.map(\.showsSourceLine) == [false, false, false, false])
        #expect(
            result.diagnostics.last?.message
                == "'${<the API key>}' is not a variable reference; write ${NAME} or ${NAME:-default} (letters, digits and _), or $$ for a literal $"
        )
        let shown = result.diagnostics.map { $0.render(sourceText: result.sourceText) + $0.keyPath }.joined()
        #expect(!shown.contains("S3cr3t"))
    }
}
