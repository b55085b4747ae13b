/// A page of a longer list, with the list's total.
public struct Paged<Item: Encodable & Sendable>: Encodable, Sendable {
    public let data: [Item]
    public let page: Int
    public let perPage: Int
    public let total: Int

    public init(data: [Item], page: Int, perPage: Int, total: Int) {
        self.data = data
        self.page = page
        self.perPage = perPage
        self.total = total
    }
}

/// A whole list, as `{"data": [...]}`.
public struct DataList<Item: Encodable & Sendable>: Encodable, Sendable {
    public let data: [Item]

    public init(data: [Item]) { self.data = data }
}
