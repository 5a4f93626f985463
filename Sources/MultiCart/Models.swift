/// One runner (one execution of a collection) from the run history.
public struct RunnerRecord: Sendable, Equatable {
    public var id: Int
    public var collection: Int?
    public var isDownloadGenerated: Bool
    /// Page file links as the API wrote them (spaces and all); empty before generation.
    public var pageLinks: [String]
    /// The ZIP link, `nil` before generation.
    public var allPagesLink: String?
    /// Items that produced a result (`total_exacted_result`).
    public var totalExacted: Int?
    /// Items in the run (`total_results`).
    public var totalResults: Int?
    public var createdAt: String?
    public var updatedAt: String?

    public init(
        id: Int, collection: Int? = nil, isDownloadGenerated: Bool, pageLinks: [String] = [],
        allPagesLink: String? = nil, totalExacted: Int? = nil, totalResults: Int? = nil, createdAt: String? = nil,
        updatedAt: String? = nil
    ) {
        self.id = id
        self.collection = collection
        self.isDownloadGenerated = isDownloadGenerated
        self.pageLinks = pageLinks
        self.allPagesLink = allPagesLink
        self.totalExacted = totalExacted
        self.totalResults = totalResults
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
