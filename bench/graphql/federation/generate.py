#!/usr/bin/env python3
"""Data for the federation benchmark graph (bench/graphql_federation.sh).

  python3 bench/graphql/federation/generate.py        # rewrites the .json files next to it

Writes, next to this script:
  accounts.json, products.json, inventory.json, reviews.json
      the data each `switchyard subgraph` serves (format: crates/graphql/tests/fixtures/README.md)
  queries/federation.expected.json
      the exact answer to queries/federation.graphql ({"data": ...}, keys in query order), worked out here
      from the same tables; the benchmark checks every gateway's answer against it

The graph is the shape of The Guild's graphql-gateways-benchmark (accounts, inventory,
products, reviews); the data is our own and deterministic (no randomness). It is sized so that
the benchmark query's answer is about 80 KB of compact JSON, like the original's: USERS users
who write REVIEWS_PER_USER reviews each, spread over the first PRODUCTS_REVIEWED of PRODUCTS
products, review bodies of BODY_WORDS words. Unlike the original's subgraphs (whose reviews
subgraph answers every author as user 1), the data is consistent: a review's author has it in
User.reviews and its product in Product.reviews, and reviews' copies of usernames equal
accounts'.

inventory's shippingEstimate is @requires(fields: "price weight"); the data-driven subgraph
has no code hook, so the value is stored, computed with the benchmark's rule
price > 1000 ? 0 : weight / 2 (integer division).
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

USERS = 6
REVIEWS_PER_USER = 3
PRODUCTS = 9
PRODUCTS_REVIEWED = 5
TOP_PRODUCTS = 5  # topProducts(first: Int = 5)
BODY_WORDS = (14, 22, 30)  # review i gets BODY_WORDS[i % 3] words

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman"]
PRODUCT_NAMES = ["Table", "Couch", "Glass", "Chair", "TV", "Lamp", "Grill", "Fridge", "Sofa"]
PRICES = [899, 1299, 15, 499, 1299, 6999, 3999, 100000, 9999]
WEIGHTS = [100, 1000, 20, 100, 1000, 300, 2000, 6000, 800]
WORDS = ("the seat is firm and the finish holds up well after a year of daily use but the delivery "
         "took longer than promised and one screw was missing from the box so we called support "
         "who sent a new one within two days which made up for it overall good value for money "
         "would buy again from this shop").split()


def shipping_estimate(price, weight):
    return 0 if price > 1000 else weight // 2


def tables():
    users = [{"id": str(i + 1), "name": f"{FIRST[i % 9]} {LAST[i % 9]}",
              "username": f"{FIRST[i % 9].lower()}{i + 1}"} for i in range(USERS)]
    products = [{"upc": str(i + 1), "name": PRODUCT_NAMES[i], "price": PRICES[i], "weight": WEIGHTS[i],
                 "inStock": i % 3 != 1} for i in range(PRODUCTS)]
    reviews = []
    for u in range(USERS):
        for k in range(REVIEWS_PER_USER):
            n = len(reviews)
            words = [WORDS[(n * 7 + j) % len(WORDS)] for j in range(BODY_WORDS[n % 3])]
            reviews.append({"id": str(n + 1), "body": " ".join(words).capitalize() + ".",
                            "author": users[u]["id"],
                            "product": products[(u + k * 3) % PRODUCTS_REVIEWED]["upc"]})
    return users, products, reviews


def subgraph_data(users, products, reviews):
    ref_user = lambda uid: {"__typename": "User", "id": uid}
    ref_product = lambda upc: {"__typename": "Product", "upc": upc}
    ref_review = lambda rid: {"__typename": "Review", "id": rid}
    username = {u["id"]: u["username"] for u in users}
    accounts = {
        "Query": {"me": ref_user(users[0]["id"]), "users": [ref_user(u["id"]) for u in users]},
        "entities": {"User": [{k: u[k] for k in ("id", "name", "username")} for u in users]},
    }
    products_json = {
        "Query": {"topProducts": [ref_product(p["upc"]) for p in products]},
        "entities": {"Product": [{k: p[k] for k in ("upc", "name", "price", "weight")} for p in products]},
    }
    inventory = {
        "Query": {},
        "entities": {"Product": [{"upc": p["upc"], "inStock": p["inStock"],
                                  "shippingEstimate": shipping_estimate(p["price"], p["weight"])}
                                 for p in products]},
    }
    reviews_json = {
        "Query": {},
        "entities": {
            "Review": [{"id": r["id"], "body": r["body"], "author": ref_user(r["author"]),
                        "product": ref_product(r["product"])} for r in reviews],
            # username: reviews' copy for Review.author @provides(fields: "username")
            "User": [{"id": u["id"], "username": username[u["id"]],
                      "reviews": [ref_review(r["id"]) for r in reviews if r["author"] == u["id"]]}
                     for u in users],
            "Product": [{"upc": p["upc"],
                         "reviews": [ref_review(r["id"]) for r in reviews if r["product"] == p["upc"]]}
                        for p in products],
        },
    }
    return {"accounts": accounts, "products": products_json, "inventory": inventory, "reviews": reviews_json}


def expected(users, products, reviews):
    user_by = {u["id"]: u for u in users}
    product_by = {p["upc"]: p for p in products}

    def user(u):  # fragment User { id username name }
        return {"id": u["id"], "username": u["username"], "name": u["name"]}

    def review(r):  # fragment Review { id body }
        return {"id": r["id"], "body": r["body"]}

    def product(p):  # fragment Product { inStock name price shippingEstimate upc weight }
        return {"inStock": p["inStock"], "name": p["name"], "price": p["price"],
                "shippingEstimate": shipping_estimate(p["price"], p["weight"]), "upc": p["upc"],
                "weight": p["weight"]}

    def reviews_of_user(u):
        return [r for r in reviews if r["author"] == u["id"]]

    def reviews_of_product(p):
        return [r for r in reviews if r["product"] == p["upc"]]

    def author_block(r):  # author { ...User reviews { ...Review product { ...Product } } }
        a = user_by[r["author"]]
        return {**user(a), "reviews": [{**review(r2), "product": product(product_by[r2["product"]])}
                                       for r2 in reviews_of_user(a)]}

    def product_reviews_block(p):  # ...Product reviews { ...Review author { ... } }
        return {**product(p), "reviews": [{**review(r), "author": author_block(r)} for r in reviews_of_product(p)]}

    return {"data": {
        "users": [{**user(u), "reviews": [{**review(r), "product": product_reviews_block(product_by[r["product"]])}
                                          for r in reviews_of_user(u)]} for u in users],
        "topProducts": [product_reviews_block(p) for p in products[:TOP_PRODUCTS]],
    }}


def main():
    users, products, reviews = tables()
    for name, data in subgraph_data(users, products, reviews).items():
        with open(os.path.join(HERE, f"{name}.json"), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    answer = expected(users, products, reviews)
    with open(os.path.join(HERE, "queries", "federation.expected.json"), "w") as f:
        json.dump(answer, f, indent=1)
        f.write("\n")
    compact = json.dumps(answer, separators=(",", ":"))
    print(f"{USERS} users, {PRODUCTS} products, {len(reviews)} reviews; "
          f"expected answer {len(compact):,} bytes of compact JSON")


if __name__ == "__main__":
    main()
