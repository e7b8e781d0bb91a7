package store

// operatorQueries are the statements about operators.
type operatorQueries struct {
	OperatorExists    string
	InsertOperator    namedQuery[operatorInsert]
	OperatorByEmail   string
	OperatorByID      string
	ListOperators     string
	SaveOperator      string
	SetPassword       string
	OtherActiveAdmins string
}

func baseOperatorQueries() operatorQueries {
	return operatorQueries{
		OperatorExists: `SELECT count(*) FROM operators WHERE id = ?`,
		InsertOperator: named[operatorInsert](`INSERT INTO operators (email, name, role, password_hash, disabled, created_at)
			VALUES (:email, :name, :role, :password_hash, :disabled, :at) RETURNING id`),
		OperatorByEmail:   `SELECT ` + operatorCols + `, password_hash FROM operators WHERE email = ?`,
		OperatorByID:      `SELECT ` + operatorCols + ` FROM operators WHERE id = ?`,
		ListOperators:     `SELECT ` + operatorCols + ` FROM operators ORDER BY id`,
		SaveOperator:      `UPDATE operators SET name = ?, role = ?, disabled = ? WHERE id = ?`,
		SetPassword:       `UPDATE operators SET password_hash = ? WHERE id = ?`,
		OtherActiveAdmins: `SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = FALSE AND id <> ?`,
	}
}

// operatorInsert is a new operator.
type operatorInsert struct {
	Email        string `db:"email"`
	Name         string `db:"name"`
	Role         string `db:"role"`
	PasswordHash string `db:"password_hash"`
	Disabled     bool   `db:"disabled"`
	At           string `db:"at"`
}
