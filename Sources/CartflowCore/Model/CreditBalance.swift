/// The account's credits as `POST /users/credits/` reports them.
public struct CreditBalance: Sendable, Equatable {
    /// What can be spent now: `available − (used + frozen)` when the three are given.
    public var spendable: Int
    public var available: Int?
    public var used: Int?
    public var frozen: Int?
    /// Which shape the answer had, for the plan's "origin" labels (e.g. `available − (used + frozen)`).
    public var origin: String

    public init(spendable: Int, available: Int? = nil, used: Int? = nil, frozen: Int? = nil, origin: String) {
        self.spendable = spendable
        self.available = available
        self.used = used
        self.frozen = frozen
        self.origin = origin
    }
}
